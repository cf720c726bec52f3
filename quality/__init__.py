"""Data-quality checks over the projections and the stream (Art. 10 定期开展数据质量检查).

Importing this package is cheap: Great Expectations is imported only when a run starts.
"""
