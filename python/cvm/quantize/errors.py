"""The quantizer's error type."""


class QuantizeError(ValueError):
    """The model, its example input or its calibration data cannot be quantized; the message
    says what was found and what is expected."""
