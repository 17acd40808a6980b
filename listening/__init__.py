"""Chorus: the residents' side of a listening session and the data it keeps."""
