namespace StableDiffusion.Native;

/// <summary>Random number generators for the initial noise and the sampler (upstream <c>rng_type_t</c>).</summary>
public enum RngType
{
    /// <summary>The C++ standard library's generator ("std_default"): reproducible within one platform's C++ runtime.</summary>
    StdDefault,

    /// <summary>A Philox generator that reproduces the noise PyTorch draws on CUDA ("cuda"; upstream's default for the noise).</summary>
    Cuda,

    /// <summary>A generator that reproduces PyTorch's CPU noise ("cpu"), as ComfyUI draws it.</summary>
    Cpu,
}

/// <summary>What the diffusion model predicts (upstream <c>prediction_t</c>); unset, upstream reads it from the model.</summary>
public enum Prediction
{
    /// <summary>The noise (ε-prediction: SD1, SDXL base).</summary>
    Epsilon,

    /// <summary>The velocity (v-prediction: SD2 768-v and v-prediction fine-tunes).</summary>
    Velocity,

    /// <summary>EDM-style velocity (Playground v2.5, some SDXL fine-tunes).</summary>
    EdmVelocity,

    /// <summary>Rectified flow (SD3, Wan, and flow fine-tunes of SD1/SDXL).</summary>
    Flow,

    /// <summary>Flux's rectified flow (resolution-dependent shift).</summary>
    FluxFlow,

    /// <summary>SeFi flow.</summary>
    SefiFlow,

    /// <summary>MiniT2I flow.</summary>
    MiniT2IFlow,
}

/// <summary>The latent format of a VAE, when upstream cannot tell it from the tensors (upstream <c>sd_vae_format_t</c>).</summary>
public enum VaeFormat
{
    /// <summary>Read from the tensors (upstream's default).</summary>
    Auto = -1,

    /// <summary>Flux's 16-channel VAE.</summary>
    Flux,

    /// <summary>SD3's 16-channel VAE.</summary>
    Sd3,

    /// <summary>FLUX.2's VAE.</summary>
    Flux2,

    /// <summary>Wan's video VAE.</summary>
    Wan,
}

/// <summary>How a module's weights are spread over several devices (upstream's <c>split_mode</c>).</summary>
public enum SplitMode
{
    /// <summary>Whole layers per device (upstream's default).</summary>
    Layer,

    /// <summary>Each weight matrix split by rows across the devices.</summary>
    Row,
}

/// <summary>The parts of a loaded model that upstream can place, split or offload separately.</summary>
public enum ModelModule
{
    /// <summary>The diffusion model (UNet or DiT; upstream "diffusion").</summary>
    Diffusion,

    /// <summary>The text encoders: CLIP, T5, LLM (upstream "te").</summary>
    TextEncoder,

    /// <summary>The CLIP vision encoder (upstream "clip_vision").</summary>
    ClipVision,

    /// <summary>The VAE or TAESD (upstream "vae").</summary>
    Vae,

    /// <summary>The ControlNet (upstream "control_net").</summary>
    ControlNet,

    /// <summary>PhotoMaker's ID encoder (upstream "photomaker").</summary>
    PhotoMaker,

    /// <summary>The hires pass's ESRGAN upscaler (upstream "upscaler").</summary>
    Upscaler,

    /// <summary>ADetailer's object detector (upstream "detector").</summary>
    Detector,
}
