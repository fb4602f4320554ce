"""The /papers commands, channels, the runtime (adapters and scheduler on one loop), health."""
