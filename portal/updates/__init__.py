"""Leadership updates on objectives: status, progress and "What we heard / What we are doing"."""
