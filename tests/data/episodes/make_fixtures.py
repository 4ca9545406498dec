#!/usr/bin/env python3
"""Writes the tiny episode fixtures used by tests/sim/episode_test.cpp.

The layout follows R2R_VLNCE_v1-3 ({split}.json.gz + {split}_gt.json.gz, integer episode
ids, instruction_tokens, an instruction_vocab) and RxR_VLNCE_v0 ({split}_guide.json.gz,
string ids, instruction_id / language / annotator_id / edit_distance). Positions and texts
are hand-written in the style of the real files; the numbers are not from Matterport scenes.
Run from this folder: python3 make_fixtures.py
"""
import gzip
import json


def write_gz(name, obj):
    data = json.dumps(obj).encode()
    with open(name, "wb") as f:
        # mtime=0 and no file name keep the bytes reproducible.
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) as gz:
            gz.write(data)


r2r = {
    "episodes": [
        {
            "episode_id": 1,
            "trajectory_id": 4,
            "scene_id": "mp3d/7y3sRwLe3Va/7y3sRwLe3Va.glb",
            "start_position": [-16.267200469970703, 0.15220600366592407, 0.7184320092201233],
            "start_rotation": [0, 0.9831466518070176, 0, 0.18281118232049925],
            "info": {"geodesic_distance": 6.425291061401367},
            "goals": [{"position": [-12.337300300598145, 0.15220600366592407, 4.0171098709106445], "radius": 3.0}],
            "instruction": {
                "instruction_text": "Walk past the dining table and stop at the bottom of the stairs.",
                "instruction_tokens": [2384, 1627, 2202, 738, 2300, 2026, 2202, 302, 1606, 2202, 2106, 0],
            },
            "reference_path": [
                [-16.267200469970703, 0.15220600366592407, 0.7184320092201233],
                [-14.30049991607666, 0.15220600366592407, 2.4375300407409668],
                [-12.337300300598145, 0.15220600366592407, 4.0171098709106445],
            ],
        },
        {
            "episode_id": 2,
            "trajectory_id": 4,
            "scene_id": "mp3d/7y3sRwLe3Va/7y3sRwLe3Va.glb",
            "start_position": [-16.267200469970703, 0.15220600366592407, 0.7184320092201233],
            "start_rotation": [0, 0.9831466518070176, 0, 0.18281118232049925],
            "info": {"geodesic_distance": 6.425291061401367},
            "goals": [{"position": [-12.337300300598145, 0.15220600366592407, 4.0171098709106445], "radius": 3.0}],
            "instruction": {
                "instruction_text": "Go straight towards the table, then wait near the staircase.",
                "instruction_tokens": [968, 2051, 2237, 2202, 2135, 2205, 2380, 1447, 2202, 2052, 0, 0],
            },
            "reference_path": [
                [-16.267200469970703, 0.15220600366592407, 0.7184320092201233],
                [-14.30049991607666, 0.15220600366592407, 2.4375300407409668],
                [-12.337300300598145, 0.15220600366592407, 4.0171098709106445],
            ],
        },
    ],
    "instruction_vocab": {
        "word_list": ["<PAD>", "<UNK>", "walk", "past"],
        "word2idx_dict": {"<PAD>": 0, "<UNK>": 1, "walk": 2, "past": 3},
        "itos": ["<PAD>", "<UNK>", "walk", "past"],
        "stoi": {"<PAD>": 0, "<UNK>": 1, "walk": 2, "past": 3},
        "num_vocab": 4,
        "UNK_INDEX": 1,
        "PAD_INDEX": 0,
    },
}

# Ground truth: the dense 0.25 m / 15 deg action sequence and the positions it visits.
r2r_gt = {
    "1": {
        "locations": [
            [-16.267200469970703, 0.15220600366592407, 0.7184320092201233],
            [-16.267200469970703, 0.15220600366592407, 0.7184320092201233],
            [-16.07900047302246, 0.15220600366592407, 0.8829900026321411],
            [-15.890800476074219, 0.15220600366592407, 1.0475499629974365],
        ],
        "actions": [3, 1, 1, 0],
        "forward_steps": 2,
    },
    "2": {
        "locations": [
            [-16.267200469970703, 0.15220600366592407, 0.7184320092201233],
            [-16.07900047302246, 0.15220600366592407, 0.8829900026321411],
        ],
        "actions": [1, 0],
        "forward_steps": 1,
    },
}

rxr = {
    "episodes": [
        {
            "episode_id": "7",
            "trajectory_id": 3751,
            "scene_id": "mp3d/zsNo4HB9uLZ/zsNo4HB9uLZ.glb",
            "start_position": [3.1264400482177734, 0.0714222937822342, -1.3461500406265259],
            "start_rotation": [0.0, -0.7071067690849304, 0.0, 0.7071067690849304],
            "info": {"geodesic_distance": 9.105224609375},
            "goals": [{"position": [-4.0163798332214355, 0.0714222937822342, 2.8003299236297607], "radius": 3.0}],
            "instruction": {
                "instruction_id": "12",
                "instruction_text": "You are facing a white wall. Turn around and walk down the hallway, past the bathroom on your left, and stop once you enter the bedroom with the blue bed.",
                "language": "en-US",
                "annotator_id": "54",
                "edit_distance": 0.0916030534351145,
            },
            "reference_path": [
                [3.1264400482177734, 0.0714222937822342, -1.3461500406265259],
                [0.5219119787216187, 0.0714222937822342, -0.5172820091247559],
                [-2.1170899868011475, 0.0714222937822342, 1.3037300109863281],
                [-4.0163798332214355, 0.0714222937822342, 2.8003299236297607],
            ],
        },
        {
            "episode_id": "8",
            "trajectory_id": 3751,
            "scene_id": "mp3d/zsNo4HB9uLZ/zsNo4HB9uLZ.glb",
            "start_position": [3.1264400482177734, 0.0714222937822342, -1.3461500406265259],
            "start_rotation": [0.0, -0.7071067690849304, 0.0, 0.7071067690849304],
            "info": {"geodesic_distance": 9.105224609375},
            "goals": [{"position": [-4.0163798332214355, 0.0714222937822342, 2.8003299236297607], "radius": 3.0}],
            "instruction": {
                "instruction_id": "13",
                "instruction_text": "गलियारे से होते हुए नीले बिस्तर वाले कमरे में जाइए और वहीं रुक जाइए।",
                "language": "hi-IN",
                "annotator_id": "61",
                "edit_distance": 0.12,
            },
            "reference_path": [
                [3.1264400482177734, 0.0714222937822342, -1.3461500406265259],
                [-4.0163798332214355, 0.0714222937822342, 2.8003299236297607],
            ],
        },
    ]
}

write_gz("val_seen.json.gz", r2r)
write_gz("val_seen_gt.json.gz", r2r_gt)
write_gz("val_unseen_guide.json.gz", rxr)
