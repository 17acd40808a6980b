"""Chorus: facilitators, their accounts, the session builder and the live room."""
