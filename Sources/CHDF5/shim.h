// libhdf5 (Debian: libhdf5-dev, pkg-config "hdf5", headers in /usr/include/hdf5/serial).
// NOTE: the predefined type ids (H5T_NATIVE_FLOAT, ...) and property-list classes are macros over
// C globals (H5T_NATIVE_FLOAT_g) that Swift cannot read; these accessors expose them as functions.
#pragma once
#include <hdf5.h>

static inline hid_t snp_H5T_NATIVE_FLOAT(void)  { return H5T_NATIVE_FLOAT; }
static inline hid_t snp_H5T_NATIVE_DOUBLE(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t snp_H5T_NATIVE_INT8(void)   { return H5T_NATIVE_INT8; }
static inline hid_t snp_H5T_NATIVE_UINT8(void)  { return H5T_NATIVE_UINT8; }
static inline hid_t snp_H5T_NATIVE_INT16(void)  { return H5T_NATIVE_INT16; }
static inline hid_t snp_H5T_NATIVE_UINT16(void) { return H5T_NATIVE_UINT16; }
static inline hid_t snp_H5T_NATIVE_INT32(void)  { return H5T_NATIVE_INT32; }
static inline hid_t snp_H5T_NATIVE_UINT32(void) { return H5T_NATIVE_UINT32; }
static inline hid_t snp_H5T_NATIVE_INT64(void)  { return H5T_NATIVE_INT64; }
static inline hid_t snp_H5T_NATIVE_UINT64(void) { return H5T_NATIVE_UINT64; }
static inline hid_t snp_H5T_IEEE_F32LE(void)    { return H5T_IEEE_F32LE; }
static inline hid_t snp_H5T_STD_U16LE(void)     { return H5T_STD_U16LE; }
static inline hid_t snp_H5T_STD_I32LE(void)     { return H5T_STD_I32LE; }
static inline hid_t snp_H5T_STD_I64LE(void)     { return H5T_STD_I64LE; }
static inline hid_t snp_H5T_C_S1(void)          { return H5T_C_S1; }
static inline hid_t snp_H5P_FILE_ACCESS(void)   { return H5P_FILE_ACCESS; }
static inline hid_t snp_H5P_DATASET_CREATE(void){ return H5P_DATASET_CREATE; }
static inline hid_t snp_H5P_DEFAULT(void)       { return H5P_DEFAULT; }
static inline hid_t snp_H5S_ALL(void)           { return H5S_ALL; }
static inline size_t snp_H5T_VARIABLE(void)     { return H5T_VARIABLE; }
// Added for the Checkpoints target: file access flags (macros that call H5open), more predefined
// types and property-list classes.
static inline unsigned snp_H5F_ACC_RDONLY(void)   { return H5F_ACC_RDONLY; }
static inline unsigned snp_H5F_ACC_TRUNC(void)    { return H5F_ACC_TRUNC; }
static inline hid_t snp_H5T_IEEE_F64LE(void)      { return H5T_IEEE_F64LE; }
static inline hid_t snp_H5P_FILE_CREATE(void)     { return H5P_FILE_CREATE; }
static inline hid_t snp_H5P_GROUP_CREATE(void)    { return H5P_GROUP_CREATE; }
