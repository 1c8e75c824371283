import Foundation

/// Progress of a long computation on standard error: on a terminal, one line redrawn in place
/// (a bar, steps/s, ETA and the latest metrics); otherwise a plain line at most every
/// `plainInterval` seconds, so logs stay readable. Rates count only the steps of this session, so
/// a resumed run's ETA is right.
public final class ProgressReporter {
    public let label: String
    public let total: Int
    let interactive: Bool
    let plainInterval: TimeInterval
    let write: (String) -> Void
    private var start: Date?
    private var firstStep = 0
    private var lastDraw = Date.distantPast
    private var lastLine = ""

    /// `write` receives the text to print (default: standard error).
    public init(label: String, total: Int, interactive: Bool? = nil, plainInterval: TimeInterval = 10,
                write: ((String) -> Void)? = nil) {
        self.label = label
        self.total = total
        self.interactive = interactive ?? (isatty(2) != 0)
        self.plainInterval = plainInterval
        self.write = write ?? { FileHandle.standardError.write(Data($0.utf8)) }
    }

    /// Reports that `step` of `total` steps are done; `metrics` are shown by name (sorted,
    /// "loss" first).
    public func update(step: Int, metrics: [String: Double] = [:]) {
        let now = Date()
        if start == nil { start = now; firstStep = step - 1 }
        let done = step - firstStep
        let elapsed = now.timeIntervalSince(start!)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let remaining = rate > 0 ? Double(total - step) / rate : .nan
        let shown = metrics.keys.sorted { ($0 == "loss" ? "" : $0) < ($1 == "loss" ? "" : $1) }
            .map { "\($0) \(Self.format(metrics[$0]!))" }.joined(separator: "  ")
        let counts = "\(step)/\(total)"
        let speed = String(format: "%.2f steps/s", rate)
        if interactive {
            guard now.timeIntervalSince(lastDraw) >= 0.1 || step == total else { return }
            lastDraw = now
            let width = 24, filled = total > 0 ? Swift.min(width, width * step / total) : width
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            lastLine = "\r\u{1B}[2K\(label) \(bar) \(counts)  \(speed)  ETA \(Self.duration(remaining))  \(shown)"
            write(lastLine)
        } else {
            guard now.timeIntervalSince(lastDraw) >= plainInterval || step == total || done == 1 else { return }
            lastDraw = now
            write("\(label) \(counts)  \(speed)  ETA \(Self.duration(remaining))  \(shown)\n")
        }
    }

    /// Prints `message` on its own line (ending the in-place line on a terminal).
    public func note(_ message: String) {
        write((interactive && !lastLine.isEmpty ? "\n" : "") + message + "\n")
        lastLine = ""
    }

    /// Ends the in-place line.
    public func finish() {
        if interactive && !lastLine.isEmpty { write("\n") }
        lastLine = ""
    }

    public static func format(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        let magnitude = abs(value)
        return magnitude != 0 && (magnitude < 1e-3 || magnitude >= 1e5) ? String(format: "%.3g", value) : String(format: "%.4g", value)
    }

    /// "1h02m", "3m07s", "42s", "?".
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let s = Int(seconds.rounded())
        if s >= 3600 { return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) }
        if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return "\(s)s"
    }
}
