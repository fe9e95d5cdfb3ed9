"""What every layer may import and that imports nothing of the project.

``errors`` are the failures an operator acts on (``ScfError``, ``ConfigError``,
``IntegrityError``); ``values`` is the exact parsing of delivered scalars (money into integer
fen, dates, quantities, the one identifier rule); ``vocabulary`` holds the enums of delivered
codes several layers read (a financing's status).
"""
