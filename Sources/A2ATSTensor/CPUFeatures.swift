import CKernels

/// What the C kernels (`CKernels`) may use on this CPU, checked once: their 512-bit variants run
/// where it has AVX-512F and the OS saves its registers, the AVX2 ones otherwise. Tests turn it
/// off to check the AVX2 variants on AVX-512 machines.
public enum CPUFeatures {
    public static var hasAVX512 = a2ats_cpu_has_avx512f() != 0
}
