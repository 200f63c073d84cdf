namespace StableDiffusion.Native.Tests;

/// <summary>Changes a request's sampling in one expression, keeping what it already holds.</summary>
internal static class RequestTestExtensions
{
    public static ImageRequest WithSampling(this ImageRequest request, Func<SamplingOptions, SamplingOptions> change)
        => request with { Sampling = change(request.Sampling) };

    public static VideoRequest WithSampling(this VideoRequest request, Func<SamplingOptions, SamplingOptions> change)
        => request with { Sampling = change(request.Sampling) };
}
