"""Music → artwork retrieval: a music encoder and an art projection trained into one shared
feeling space by InfoNCE on the data set's (painting, comment, clip) triplets (issue 11)."""
