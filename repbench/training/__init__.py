"""Training: `config` (TrainConfig, recipe profiles, layering, validation), `runfolder` (metrics log,
checkpoints, RNG state, train.json), `loop` (`train()`), `datasets` (training and held-out images)
and `schedules` (learning-rate schedules). Import from the module you need: `config` stays torch-free.
"""
