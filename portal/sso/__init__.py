"""Single sign-on with the association's member system (OpenID Connect)."""
