"""The deployed model: merging a run into its plain network and ONNX file (`deploy`, `onnx_export`),
what `--model` names (`modelfile`), and upscaling images with it (`upscale`)."""
