"""Finance exports: one dataset registry, jobs run as the asking scope, files behind signed links."""
