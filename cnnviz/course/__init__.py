"""What runs the course: the command line, class grading, nbgrader's steps, updates, the demo,
Fashion-MNIST and the checkpoint, the class list and the LMS."""
