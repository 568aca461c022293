"""For files with the actions, the pipeline re-identifies and crops on its inference thread
(FaceStage.track on capture, FaceStage.finish on inference). The result must be what one
thread running FaceStage.process on every frame gives: same ids (re-identification included),
boxes, landmarks and crops, on a real clip where a person leaves and returns."""

from __future__ import annotations

import numpy as np

from affect_live.faces.capture import FaceStage
from affect_live.model.inference.engine import AffectEngine
from affect_live.pipeline.threads import Pipeline, PipelineSettings, crop_style
from affect_live.resources import clip
from affect_live.pipeline.sources import open_source
from affect_live.types import FacePacket


def test_finish_on_the_inference_thread_equals_one_thread(default_bundle) -> None:
    engine = AffectEngine(default_bundle)
    path = str(clip("leave_return.mp4"))

    expected = []
    alone = AffectEngine(default_bundle)  # the same model on the one-thread crops
    source = open_source(path)
    with FaceStage(crop_style(engine.manifest), actions=True) as stage:
        for frame in source.frames():
            faces, ended, _ = stage.process(frame)
            packet = FacePacket(frame.index, frame.time_s, (640, 480), faces, 0.0, tuple(ended))
            expected.append((frame.index, faces, alone.process(packet)))
        reidentified = stage.identities.stats.reidentified
    source.close()
    assert reidentified >= 1  # the clip's person does come back and is recognised

    pipeline = Pipeline(open_source(path), engine, PipelineSettings())
    assert pipeline._finish_later  # the path under test
    results = list(pipeline.results())
    assert pipeline.error is None

    assert [r.frame_index for r in results] == [index for index, _, _ in expected]
    assert sum(len(r.predictions) for r in results) > len(results) // 2  # faces on most frames
    for result, (_, faces, one_thread) in zip(results, expected):
        assert [p.face_id for p in result.predictions] == [f.face_id for f in faces]
        for prediction, face, same in zip(result.predictions, faces, one_thread.predictions):
            assert prediction.detection.box == face.detection.box
            # same crops, same windows: the same expression and valence/arousal
            np.testing.assert_array_equal(prediction.probabilities, same.probabilities)
            assert (prediction.valence, prediction.arousal) == (same.valence, same.arousal)
            assert prediction.actions is not None
            np.testing.assert_array_equal(prediction.actions.landmarks, face.landmarks)
    assert pipeline.faces.identities.stats.reidentified == reidentified
