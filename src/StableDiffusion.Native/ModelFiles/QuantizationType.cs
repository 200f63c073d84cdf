namespace StableDiffusion.Native.ModelFiles;

/// <summary>
/// Weight storage types. A typed mirror of stable-diffusion.cpp's <c>sd_type_t</c>: every member has exactly the
/// native numeric value, so a value can be passed to the native API by casting. Gaps (4, 5, 31–33, 36–38) are types
/// that ggml removed.
/// </summary>
public enum QuantizationType
{
    /// <summary>32-bit float.</summary>
    F32 = 0,

    /// <summary>16-bit IEEE half float.</summary>
    F16 = 1,

    /// <summary>4-bit, blocks of 32 with one scale.</summary>
    Q4_0 = 2,

    /// <summary>4-bit, blocks of 32 with scale and minimum.</summary>
    Q4_1 = 3,

    /// <summary>5-bit, blocks of 32 with one scale.</summary>
    Q5_0 = 6,

    /// <summary>5-bit, blocks of 32 with scale and minimum.</summary>
    Q5_1 = 7,

    /// <summary>8-bit, blocks of 32 with one scale.</summary>
    Q8_0 = 8,

    /// <summary>8-bit, blocks of 32 with scale and sum (intermediate type).</summary>
    Q8_1 = 9,

    /// <summary>2-bit k-quant, super-blocks of 256.</summary>
    Q2_K = 10,

    /// <summary>3-bit k-quant, super-blocks of 256.</summary>
    Q3_K = 11,

    /// <summary>4-bit k-quant, super-blocks of 256.</summary>
    Q4_K = 12,

    /// <summary>5-bit k-quant, super-blocks of 256.</summary>
    Q5_K = 13,

    /// <summary>6-bit k-quant, super-blocks of 256.</summary>
    Q6_K = 14,

    /// <summary>8-bit k-quant (intermediate type).</summary>
    Q8_K = 15,

    /// <summary>2.06 bits per weight i-quant.</summary>
    IQ2_XXS = 16,

    /// <summary>2.31 bits per weight i-quant.</summary>
    IQ2_XS = 17,

    /// <summary>3.06 bits per weight i-quant.</summary>
    IQ3_XXS = 18,

    /// <summary>1.56 bits per weight i-quant.</summary>
    IQ1_S = 19,

    /// <summary>4.5 bits per weight non-linear quant, blocks of 32.</summary>
    IQ4_NL = 20,

    /// <summary>3.44 bits per weight i-quant.</summary>
    IQ3_S = 21,

    /// <summary>2.56 bits per weight i-quant.</summary>
    IQ2_S = 22,

    /// <summary>4.25 bits per weight non-linear quant, super-blocks of 256.</summary>
    IQ4_XS = 23,

    /// <summary>8-bit integer.</summary>
    I8 = 24,

    /// <summary>16-bit integer.</summary>
    I16 = 25,

    /// <summary>32-bit integer.</summary>
    I32 = 26,

    /// <summary>64-bit integer.</summary>
    I64 = 27,

    /// <summary>64-bit float.</summary>
    F64 = 28,

    /// <summary>1.75 bits per weight i-quant.</summary>
    IQ1_M = 29,

    /// <summary>bfloat16.</summary>
    BF16 = 30,

    /// <summary>Ternary, 1.69 bits per weight.</summary>
    TQ1_0 = 34,

    /// <summary>Ternary, 2.06 bits per weight.</summary>
    TQ2_0 = 35,

    /// <summary>MX FP4 (E2M1 with an E8M0 scale per 32).</summary>
    MXFP4 = 39,

    /// <summary>NV FP4 (E2M1 with E4M3 scales per 16, blocks of 64).</summary>
    NVFP4 = 40,

    /// <summary>1-bit, blocks of 128 with one scale.</summary>
    Q1_0 = 41,
}
