namespace StableDiffusion.Native;

/// <summary>
/// Tells loading, sampling and decoding apart from upstream's log lines. Upstream's progress callback carries
/// no phase, so the phase is inferred from the INFO lines that open each one; this is the only place that
/// knows their wording, and its unit tests pin it.
/// </summary>
internal sealed class GenerationPhaseTracker
{
    private GenerationPhase _beforeLoading = GenerationPhase.Loading;

    /// <summary>The phase the call is in now.</summary>
    public GenerationPhase Phase { get; private set; } = GenerationPhase.Loading;

    /// <summary>The batch image being worked on (0-based).</summary>
    public int Image { get; private set; }

    /// <summary>Feeds one INFO/DEBUG line (without upstream's "file.cpp:line - " prefix).</summary>
    public void Observe(string line)
    {
        const string Generating = "generating image: ";
        if (line.StartsWith(Generating, StringComparison.Ordinal))
        {
            // "generating image: 2/4 - seed 43"
            Phase = GenerationPhase.Sampling;
            int slash = line.IndexOf('/', Generating.Length);
            if (slash > Generating.Length && int.TryParse(line.AsSpan(Generating.Length, slash - Generating.Length), out int n) && n >= 1)
                Image = n - 1;
        }
        else if (line.StartsWith("decoding ", StringComparison.Ordinal))
        {
            Phase = GenerationPhase.Decoding;
        }
        // Videos say so at DEBUG: each sampling stage opens with "sample 4x4x2" ("sample(high noise) 4x4x2" for a
        // two-expert model's first), the decode with "decode_video_outputs latent 4x4x2x16".
        else if (line.StartsWith("sample ", StringComparison.Ordinal) || line.StartsWith("sample(", StringComparison.Ordinal))
        {
            Phase = GenerationPhase.Sampling;
        }
        else if (line.StartsWith("decode_video_outputs latent ", StringComparison.Ordinal))
        {
            Phase = GenerationPhase.Decoding;
        }
        // Weights load lazily inside the first sampling or decoding; upstream reports that through the same
        // progress callback, bracketed by these two lines, after which the interrupted phase resumes.
        else if (line.StartsWith("loading ", StringComparison.Ordinal) && line.Contains(" tensors from ", StringComparison.Ordinal))
        {
            if (Phase != GenerationPhase.Loading) _beforeLoading = Phase;
            Phase = GenerationPhase.Loading;
        }
        else if (line.StartsWith("loading tensors completed", StringComparison.Ordinal))
        {
            Phase = _beforeLoading;
        }
    }
}
