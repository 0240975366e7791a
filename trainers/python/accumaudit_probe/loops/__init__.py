"""Plain PyTorch accumulation loops, written the way users write them."""
