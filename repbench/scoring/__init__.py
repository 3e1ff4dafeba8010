"""Scoring a network: reading images (`images`), MATLAB-compatible bicubic (`imresize`), PSNR / SSIM
on the Y channel with the border crop (`metrics`), and a whole test set (`evaluate`)."""
