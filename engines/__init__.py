"""Engines beyond the embedded DuckDB: the open store and the catalogue on Spark (issue 16).

pyspark 4.x warns on import that it "does not yet fully support pandas >= 3" (pandas 3 is what
Great Expectations and Dagster get here; Great Expectations imports pyspark whenever it is
installed, so every night would print it).  The warning concerns pyspark's pandas paths
(pandas-on-Spark, ``toPandas``, pandas UDFs); the Spark engine uses none of them: it reads the
open store's Parquet and hands its results back as Arrow (:mod:`engines.spark`).  It is ignored
here, once, for that reason; a pandas path used in the engine would need ``pandas<3``.
"""

import warnings

warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas >= 3", category=FutureWarning)
