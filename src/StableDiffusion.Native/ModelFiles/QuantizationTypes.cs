using System.Diagnostics.CodeAnalysis;

namespace StableDiffusion.Native.ModelFiles;

/// <summary>
/// Facts about <see cref="QuantizationType"/> values: upstream names and storage geometry (ggml's type traits).
/// </summary>
/// <remarks>
/// Block and type sizes follow ggml's block layouts at the pinned revision: a block of <see cref="BlockSize"/> weights
/// occupies <see cref="TypeSize"/> bytes. The table also knows ggml's <c>q2_0</c> (id 42), which GGUF files may hold
/// but which has no <c>sd_type_t</c> counterpart (it is not a member of <see cref="QuantizationType"/>).
/// </remarks>
public static class QuantizationTypes
{
    private static readonly Traits?[] Table = BuildTable();

    /// <summary>Gets every defined <see cref="QuantizationType"/> in numeric order.</summary>
    public static IReadOnlyList<QuantizationType> All { get; } = Enum.GetValues<QuantizationType>();

    /// <summary>Gets upstream's lowercase name of a type, as <c>sd_type_name</c> prints it (for example <c>"q8_0"</c>, <c>"q4_K"</c>).</summary>
    /// <param name="type">The type.</param>
    /// <returns>The name.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="type"/> is not a known type.</exception>
    public static string Name(QuantizationType type) => Get(type).Name;

    /// <summary>Gets the number of weights in one block.</summary>
    /// <param name="type">The type.</param>
    /// <returns>The block size.</returns>
    public static int BlockSize(QuantizationType type) => Get(type).BlockSize;

    /// <summary>Gets the number of bytes one block occupies.</summary>
    /// <param name="type">The type.</param>
    /// <returns>The block's byte size.</returns>
    public static int TypeSize(QuantizationType type) => Get(type).TypeSize;

    /// <summary>Gets the average storage cost of one weight in bits.</summary>
    /// <param name="type">The type.</param>
    /// <returns>Bits per weight (for example 8.5 for <see cref="QuantizationType.Q8_0"/>).</returns>
    public static double BitsPerWeight(QuantizationType type)
    {
        Traits t = Get(type);
        return t.TypeSize * 8.0 / t.BlockSize;
    }

    /// <summary>Gets whether the type is a block-quantized type (ggml's <c>ggml_is_quantized</c>).</summary>
    /// <param name="type">The type.</param>
    /// <returns><see langword="true"/> for quantized types.</returns>
    public static bool IsQuantized(QuantizationType type) => Get(type).Quantized;

    /// <summary>Gets whether <paramref name="type"/> is a type the pinned ggml knows (including <c>q2_0</c>).</summary>
    /// <param name="type">The type.</param>
    /// <returns><see langword="true"/> when known.</returns>
    public static bool IsKnown(QuantizationType type) => (uint)type < (uint)Table.Length && Table[(int)type] is not null;

    /// <summary>Parses upstream's type name. Matching is exact (case-sensitive), as upstream's is.</summary>
    /// <param name="name">The name, for example <c>"q8_0"</c>.</param>
    /// <param name="type">The parsed type.</param>
    /// <returns><see langword="true"/> when the name is known.</returns>
    public static bool TryParse([NotNullWhen(true)] string? name, out QuantizationType type)
    {
        if (name is not null)
        {
            for (int i = 0; i < Table.Length; i++)
            {
                if (Table[i] is Traits t && t.IsSdType && string.Equals(t.Name, name, StringComparison.Ordinal))
                {
                    type = (QuantizationType)i;
                    return true;
                }
            }
        }

        type = default;
        return false;
    }

    /// <summary>Parses upstream's type name.</summary>
    /// <param name="name">The name.</param>
    /// <returns>The type.</returns>
    /// <exception cref="ArgumentException">The name is not known.</exception>
    public static QuantizationType Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return TryParse(name, out QuantizationType type)
            ? type
            : throw new ArgumentException($"Unknown quantization type '{name}'.", nameof(name));
    }

    /// <summary>Computes the byte size of <paramref name="elements"/> weights, or <see langword="null"/> on overflow or a partial block.</summary>
    internal static long? ByteSize(QuantizationType type, long elements)
    {
        Traits t = Get(type);
        if (elements < 0 || elements % t.BlockSize != 0)
        {
            return null;
        }

        long blocks = elements / t.BlockSize;
        try
        {
            return checked(blocks * t.TypeSize);
        }
        catch (OverflowException)
        {
            return null;
        }
    }

    internal static bool TryGetTraits(uint id, out string name, out int blockSize, out int typeSize)
    {
        if (id < (uint)Table.Length && Table[id] is Traits t)
        {
            name = t.Name;
            blockSize = t.BlockSize;
            typeSize = t.TypeSize;
            return true;
        }

        name = string.Empty;
        blockSize = typeSize = 0;
        return false;
    }

    private static Traits Get(QuantizationType type)
        => (uint)type < (uint)Table.Length && Table[(int)type] is Traits t
            ? t
            : throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown quantization type.");

    private static Traits?[] BuildTable()
    {
        var t = new Traits?[43];
        const int K = 256;
        t[0] = new("f32", 1, 4, false);
        t[1] = new("f16", 1, 2, false);
        t[2] = new("q4_0", 32, 18, true);
        t[3] = new("q4_1", 32, 20, true);
        t[6] = new("q5_0", 32, 22, true);
        t[7] = new("q5_1", 32, 24, true);
        t[8] = new("q8_0", 32, 34, true);
        t[9] = new("q8_1", 32, 36, true);
        t[10] = new("q2_K", K, 84, true);
        t[11] = new("q3_K", K, 110, true);
        t[12] = new("q4_K", K, 144, true);
        t[13] = new("q5_K", K, 176, true);
        t[14] = new("q6_K", K, 210, true);
        t[15] = new("q8_K", K, 292, true);
        t[16] = new("iq2_xxs", K, 66, true);
        t[17] = new("iq2_xs", K, 74, true);
        t[18] = new("iq3_xxs", K, 98, true);
        t[19] = new("iq1_s", K, 50, true);
        t[20] = new("iq4_nl", 32, 18, true);
        t[21] = new("iq3_s", K, 110, true);
        t[22] = new("iq2_s", K, 82, true);
        t[23] = new("iq4_xs", K, 136, true);
        t[24] = new("i8", 1, 1, false);
        t[25] = new("i16", 1, 2, false);
        t[26] = new("i32", 1, 4, false);
        t[27] = new("i64", 1, 8, false);
        t[28] = new("f64", 1, 8, false);
        t[29] = new("iq1_m", K, 56, true);
        t[30] = new("bf16", 1, 2, false);
        t[34] = new("tq1_0", K, 54, true);
        t[35] = new("tq2_0", K, 66, true);
        t[39] = new("mxfp4", 32, 17, true);
        t[40] = new("nvfp4", 64, 36, true);
        t[41] = new("q1_0", 128, 18, true);
        t[42] = new("q2_0", 64, 18, true) { IsSdType = false };
        return t;
    }

    private sealed record Traits(string Name, int BlockSize, int TypeSize, bool Quantized)
    {
        public bool IsSdType { get; init; } = true;
    }
}
