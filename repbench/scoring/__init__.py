"""What scoring is made of: reading and writing images (`images`), MATLAB-compatible bicubic
(`imresize`), colour conversion and PSNR / SSIM on the Y channel with the border crop (`metrics`).
Pure array code that imports no other package of repbench: the datasets, the deployed model and
the evaluation of a test set (repbench.inference.evaluate) all build on it."""
