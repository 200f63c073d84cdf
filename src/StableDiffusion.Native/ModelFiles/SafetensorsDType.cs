using System.Diagnostics.CodeAnalysis;

namespace StableDiffusion.Native.ModelFiles;

/// <summary>The element types of the safetensors format, named as in the format's header (case-sensitive).</summary>
/// <remarks>
/// The members are those of the reference implementation (the Rust <c>safetensors</c> crate). Their numeric values
/// are not the reference's order: members added later are appended so that existing values never change.
/// </remarks>
public enum SafetensorsDType
{
    /// <summary>Boolean, one byte.</summary>
    BOOL,

    /// <summary>4-bit float (E2M1), packed two per byte.</summary>
    F4,

    /// <summary>6-bit float E2M3, packed.</summary>
    F6_E2M3,

    /// <summary>6-bit float E3M2, packed.</summary>
    F6_E3M2,

    /// <summary>Unsigned 8-bit integer.</summary>
    U8,

    /// <summary>Signed 8-bit integer.</summary>
    I8,

    /// <summary>8-bit float E5M2.</summary>
    F8_E5M2,

    /// <summary>8-bit float E4M3.</summary>
    F8_E4M3,

    /// <summary>8-bit exponent-only scale (E8M0).</summary>
    F8_E8M0,

    /// <summary>Signed 16-bit integer.</summary>
    I16,

    /// <summary>Unsigned 16-bit integer.</summary>
    U16,

    /// <summary>IEEE half float.</summary>
    F16,

    /// <summary>bfloat16.</summary>
    BF16,

    /// <summary>Signed 32-bit integer.</summary>
    I32,

    /// <summary>Unsigned 32-bit integer.</summary>
    U32,

    /// <summary>32-bit float.</summary>
    F32,

    /// <summary>Complex number of two 32-bit floats.</summary>
    C64,

    /// <summary>64-bit float.</summary>
    F64,

    /// <summary>Signed 64-bit integer.</summary>
    I64,

    /// <summary>Unsigned 64-bit integer.</summary>
    U64,

    /// <summary>8-bit float E4M3, "finite, unsigned zero" variant (no infinities, one NaN, no negative zero).</summary>
    F8_E4M3FNUZ,

    /// <summary>8-bit float E5M2, "finite, unsigned zero" variant (no infinities, one NaN, no negative zero).</summary>
    F8_E5M2FNUZ,
}

/// <summary>Facts about <see cref="SafetensorsDType"/> values.</summary>
public static class SafetensorsDTypes
{
    private static readonly string[] Names = Enum.GetNames<SafetensorsDType>();

    /// <summary>Gets the number of bits one element occupies.</summary>
    /// <param name="dtype">The type.</param>
    /// <returns>4 for F4, 6 for the F6 types, otherwise a multiple of 8.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dtype"/> is not a defined value.</exception>
    public static int BitSize(SafetensorsDType dtype) => dtype switch
    {
        SafetensorsDType.F4 => 4,
        SafetensorsDType.F6_E2M3 or SafetensorsDType.F6_E3M2 => 6,
        SafetensorsDType.BOOL or SafetensorsDType.U8 or SafetensorsDType.I8
            or SafetensorsDType.F8_E5M2 or SafetensorsDType.F8_E4M3 or SafetensorsDType.F8_E8M0
            or SafetensorsDType.F8_E4M3FNUZ or SafetensorsDType.F8_E5M2FNUZ => 8,
        SafetensorsDType.I16 or SafetensorsDType.U16 or SafetensorsDType.F16 or SafetensorsDType.BF16 => 16,
        SafetensorsDType.I32 or SafetensorsDType.U32 or SafetensorsDType.F32 => 32,
        SafetensorsDType.C64 or SafetensorsDType.F64 or SafetensorsDType.I64 or SafetensorsDType.U64 => 64,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown safetensors dtype."),
    };

    /// <summary>Gets the header name of a type.</summary>
    /// <param name="dtype">The type.</param>
    /// <returns>The exact header spelling, for example <c>"BF16"</c>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dtype"/> is not a defined value.</exception>
    public static string Name(SafetensorsDType dtype)
        => (uint)dtype < (uint)Names.Length ? Names[(int)dtype] : throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown safetensors dtype.");

    /// <summary>Parses a header name exactly (case-sensitive, no whitespace, no numeric forms).</summary>
    /// <param name="name">The name.</param>
    /// <param name="dtype">The type.</param>
    /// <returns><see langword="true"/> when the name is known.</returns>
    public static bool TryParse([NotNullWhen(true)] string? name, out SafetensorsDType dtype)
    {
        if (name is not null)
        {
            for (int i = 0; i < Names.Length; i++)
            {
                if (string.Equals(Names[i], name, StringComparison.Ordinal))
                {
                    dtype = (SafetensorsDType)i;
                    return true;
                }
            }
        }

        dtype = default;
        return false;
    }

    /// <summary>
    /// Gets the ggml type stable-diffusion.cpp loads a safetensors type as (F8 widened to F16, F64 narrowed to F32,
    /// I64 narrowed to I32), or <see langword="null"/> when upstream does not load the type (U8 tensors are skipped as
    /// quantization metadata; the others are refused).
    /// </summary>
    /// <param name="dtype">The type.</param>
    /// <returns>The in-memory type, or <see langword="null"/>.</returns>
    /// <remarks>
    /// This mirrors upstream's dtype table (<c>safetensors_dtype_to_ggml_type</c> in
    /// <c>src/model_io/safetensors_io.cpp</c>), which converts only <c>F8_E4M3</c> and <c>F8_E5M2</c>. The FNUZ
    /// variants (<see cref="SafetensorsDType.F8_E4M3FNUZ"/>, <see cref="SafetensorsDType.F8_E5M2FNUZ"/>), whose
    /// exponent bias, NaN and zero differ, are not in it and upstream refuses them as unsupported, so they map to
    /// <see langword="null"/> like BOOL, the sub-byte floats and the unsigned wide integers.
    /// </remarks>
    public static QuantizationType? LoadType(SafetensorsDType dtype) => dtype switch
    {
        SafetensorsDType.F16 or SafetensorsDType.F8_E4M3 or SafetensorsDType.F8_E5M2 => QuantizationType.F16,
        SafetensorsDType.BF16 => QuantizationType.BF16,
        SafetensorsDType.F32 or SafetensorsDType.F64 => QuantizationType.F32,
        SafetensorsDType.I32 or SafetensorsDType.I64 => QuantizationType.I32,
        SafetensorsDType.I8 => QuantizationType.I8,
        _ => null,
    };

    /// <summary>
    /// Gets a value indicating whether stable-diffusion.cpp can load a file holding a tensor of this type: the types
    /// of <see cref="LoadType(SafetensorsDType)"/>, plus U8, which upstream skips. Upstream refuses a whole file with
    /// one tensor of any other type, so loading refuses it first (with <see cref="InvalidModelFileReason.UnsupportedDataType"/>);
    /// opening and inspecting it still work.
    /// </summary>
    /// <param name="dtype">The type.</param>
    /// <returns><see langword="true"/> when a tensor of this type does not stop upstream from loading the file.</returns>
    public static bool IsLoadable(SafetensorsDType dtype) => dtype == SafetensorsDType.U8 || LoadType(dtype) is not null;
}
