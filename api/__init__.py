"""The GraphQL research API: project-scoped, authenticated, audited access to published
releases (design section 8). It reads only `published/` and `access/`, and never imports
Spark."""
