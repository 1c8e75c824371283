#!/usr/bin/env python3
"""Checksum64 (Sources/Checkpoints/Checksum.swift) transcribed independently, for the value
Tests/CheckpointsTests/IntegrityTests.swift expects. Prints the checksum of the test's 37 bytes."""
M = (1 << 64) - 1
P = 0x9E3779B97F4A7C15


def checksum64(data: bytes) -> str:
    h = 0x6A09E667F3BCC908
    words = len(data) // 8
    for i in range(words):
        h = ((h ^ int.from_bytes(data[8 * i:8 * i + 8], "little")) * P) & M
        h ^= h >> 29
    if len(data) % 8:
        h = ((h ^ int.from_bytes(data[8 * words:], "little")) * P) & M
        h ^= h >> 29
    h = ((h ^ len(data)) * P) & M
    h ^= h >> 32
    return f"{h:016x}"


if __name__ == "__main__":
    print(checksum64(bytes((i * 31 + 7) & 255 for i in range(37))))
