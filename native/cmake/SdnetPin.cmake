# The upstream pin. Changing it means regenerating the bindings (build/BindingGenerator) in the same commit.
set(SDNET_SD_REPOSITORY "https://github.com/leejet/stable-diffusion.cpp.git")
set(SDNET_SD_COMMIT     "97d2990807fe6d558e395f8764198d7c7e7b411c")
# The ggml submodule commit recorded by SDNET_SD_COMMIT (checked after fetching).
set(SDNET_GGML_COMMIT   "8e800cef2948046cc47f9db6090491c6128ca42c")
