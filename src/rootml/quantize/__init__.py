"""Stage quantize: int8 post-training quantization with onnxruntime (checked against the float ONNX model, timed), and
weights and layer outputs fake-quantized to a few bits with torch.ao, before (PTQ) and after (QAT) fine-tuning.

`run.quantize_model` is the entry point of the quantize rule.
"""
