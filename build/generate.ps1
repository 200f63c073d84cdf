# The main job, in PowerShell (Windows PowerShell 5.1 and PowerShell 7): build the native runtime if none is found,
# fetch a model if none is given, generate an image. The twin of build/generate.sh; keep the two in step.
#   pwsh build/generate.ps1 "a lighthouse on a cliff at dusk" lighthouse.png
#   powershell -ExecutionPolicy Bypass -File build\generate.ps1 "a lighthouse on a cliff at dusk" lighthouse.png
# $env:SDNET_MODEL picks the model (default: Stable Diffusion 1.5, fp16, pulled once from the Hugging Face hub into
# models\ by `sdnet models pull`, which resumes an interrupted download and verifies it). Any further arguments go
# to `sdnet generate`, e.g. --steps 30 --seed 42.

# A plain (not advanced) script on purpose: the arguments it does not declare reach $args as they are, so sdnet's
# own options (--steps, -s) are passed on instead of being taken for PowerShell parameters.
param(
    [string]$Prompt = 'a lighthouse on a cliff at dusk, oil painting',
    [string]$Output = 'output.png'
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$rest = @($args)

# Native commands do not throw on failure: each one's exit code is checked, and the script exits with it.
function Assert-ExitCode([string]$What) {
    if ($LASTEXITCODE -ne 0) {
        [Console]::Error.WriteLine("$What failed with exit code $LASTEXITCODE.")
        exit $LASTEXITCODE
    }
}

# Relative paths (models\, the output) are the checkout's, as in generate.sh; the caller's location is restored.
Push-Location -LiteralPath (Join-Path $PSScriptRoot '..')
try {
    $cli = @('run', '--project', 'src/StableDiffusion.Native.Cli', '-c', 'Release', '--')
    if (-not (Get-Command dotnet -ErrorAction SilentlyContinue)) {
        [Console]::Error.WriteLine('dotnet is not on PATH: install the .NET 10 SDK.')
        exit 1
    }

    # 1. Native runtime: this checkout's build or the user cache; otherwise build the portable CPU preset.
    # Windows PowerShell turns a redirected native stderr line into an error record, which 'Stop' would make
    # fatal: the probe runs under 'Continue', and only its exit code counts.
    $doctor = 1
    $ErrorActionPreference = 'Continue'
    try {
        & dotnet @cli doctor *> $null
        $doctor = $LASTEXITCODE
    }
    finally {
        $ErrorActionPreference = 'Stop'
    }
    if ($doctor -ne 0) {
        [Console]::Error.WriteLine('No native runtime found; building it (cmake --workflow --preset cpu, a few minutes)...')
        & cmake --workflow --preset cpu
        Assert-ExitCode 'cmake --workflow --preset cpu'
    }

    # 2. Model: the one given, else SD 1.5 in models\ (pulled when missing; a .part left by an interrupted pull resumes).
    $model = $env:SDNET_MODEL
    if ([string]::IsNullOrEmpty($model)) {
        $model = Join-Path 'models' 'v1-5-pruned-emaonly-fp16.safetensors'
        if (-not (Test-Path -LiteralPath $model -PathType Leaf)) {
            [Console]::Error.WriteLine('Downloading Stable Diffusion 1.5 (2.1 GB) into models ...')
            # Its one stdout line, the final path, is shown rather than returned as the script's output.
            & dotnet @cli models pull 'hf:stable-diffusion-v1-5/stable-diffusion-v1-5/v1-5-pruned-emaonly-fp16.safetensors' --dir models | Out-Host
            Assert-ExitCode 'sdnet models pull'
        }
    }

    # 3. Generate (any further arguments go to `sdnet generate`).
    & dotnet @cli generate -m $model -p $Prompt -o $Output @rest
    Assert-ExitCode 'sdnet generate'
}
finally {
    Pop-Location
}
