"""Released checkpoints of the field, imported into the zoo and measured one way beside the runs trained here.

    registry   data/published.yaml: each model's network, source, checksum and its authors' figures
    files      the verified file: cache, local copy or download
    convert    released keys -> zoo keys by name, shape checks, the architectures a file fits
    imports    `repbench import`: a model file or a run folder every other command takes
"""
