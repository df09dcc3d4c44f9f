"""HTTP only: parse, authorise, call a service, serialise. No rules here."""
