"""The deployed model: merging a run into its plain network and ONNX file (`deploy`, `onnx_export`),
what `--model` names (`modelfile`), upscaling images with it (`upscale`) and scoring it on a test
set (`evaluate`: PSNR / SSIM per image with repbench.scoring's conventions, and the floors)."""
