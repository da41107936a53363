"""Hitscribe trainer: causal DrummerNet-style drum transcription, exported to ONNX."""
