// Prints the path of the tests' tiny SD1 checkpoint (32-channel UNet and VAE decoder, full CLIP and VAE encoder, F16, about 340 MB),
// writing it into the test-model cache (SDNET_TEST_MODELS, else <temp>/sdnet-test-models) when it is not there yet.
Console.WriteLine(StableDiffusion.Native.TestModels.TestModelFactory.Sd1(unetChannels: 32));
