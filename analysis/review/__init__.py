"""The planners' web side of analysis: review pages and exports (views.py) and their SQL (queries.py).

The only part of analysis/ that imports Flask or SQLite.
"""
