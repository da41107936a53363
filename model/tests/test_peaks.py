"""Online peak picking (the rule the engine shares)."""

import numpy as np

from hitscribe_trainer.peaks import pick_onsets


def test_threshold_local_max_and_retrigger():
    p = np.array([0, 0.2, 0.6, 0.9, 0.5, 0.1, 0.7, 0.0, 0, 0, 0.8, 0.85])
    # 2: rising over threshold; 3 suppressed by retrigger (3 frames); 6 fires; 10 fires; 11 suppressed
    assert pick_onsets(p, 0.5, 3) == [2, 6, 10]
    assert pick_onsets(p, 0.5, 1) == [2, 3, 6, 10, 11]
    assert pick_onsets(np.zeros(50), 0.1, 1) == []
