"""Stage firmware: FPGA firmware emulation of trained models, hls4ml (torch) and conifer (BDT) projects compiled with
g++ as bit-accurate C++, their metric against the float model's over a scan of fixed-point precisions.

`run.emulate_model` is the entry point of the firmware rule.
"""
