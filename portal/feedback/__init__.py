"""Member feedback on objectives: ratings, comments, endorsements, flags, My feedback."""
