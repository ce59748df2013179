"""Site-wide pages: home, accessibility statement, health check."""
