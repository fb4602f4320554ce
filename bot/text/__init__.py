"""Platform-free text shared by every renderer."""
