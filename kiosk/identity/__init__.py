"""Who the student is and when they are expected: the roster of expected
graduates (a CSV/XLSX file or the school server's copy) and the centre's
capture sessions."""
