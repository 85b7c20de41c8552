"""Point clouds: the depth sensor's geometry (occlusion, range-dependent density, range noise), the Sweet Home 3D
catalog reader and mesh bank, user scans with their poses, and the PointNet-style encoder."""

import json
import math
import zipfile

import numpy as np
import pytest
import torch
import trimesh

from foabench.model.layers import PointCloudEncoder
from foabench.synth.banks.format import Bank
from foabench.synth.foa import angular_distance, direction_of, unit_vector
from foabench.synth.meshes.mesh_io import MeshFileError, read_mesh
from foabench.synth.meshes.sweethome3d import (
    DEFAULT_FURNITURE_DIR,
    CatalogError,
    parse_properties,
    read_catalog,
    to_object_frame,
)
from foabench.synth.meshes.table import MeshTableError, parse_mesh_table
from foabench.synth.pointclouds.fixed_size import fixed_size_cloud
from foabench.synth.pointclouds.sensor import ROOM_ID, DepthSensor, Mesh, box_ranges, capture, pixel_directions
from foabench.synth.pointclouds.user_clouds import UserCloudError, UserClouds, read_user_cloud
from tests.pointcloud_fixtures import TABLE, box_mesh, build_test_mesh_bank, nosed_box_obj, write_catalog

QUIET = DepthSensor(resolution_deg=1.0, noise_m=(0.0, 0.0), dropout=0.0)


def _box_at(azimuth, elevation, distance, size, object_id):
    v, f = box_mesh(size, distance * unit_vector(azimuth, elevation))
    return Mesh(v, f, object_id)


# ---- the sensor -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("azimuth, elevation, distance", [(30.0, 10.0, 2.0), (-120.0, -35.0, 3.0), (170.0, 60.0, 1.5)])
def test_a_clouds_centroid_lies_at_the_source_direction_within_the_objects_size(azimuth, elevation, distance):
    size = (0.4, 0.6, 0.9)
    cap = capture([_box_at(azimuth, elevation, distance, size, 0)], QUIET, seed=1)
    pts = cap.of(0).astype(np.float64)
    assert len(pts) > 50
    centroid = pts.mean(axis=0)
    source = distance * unit_vector(azimuth, elevation)
    assert np.linalg.norm(centroid - source) <= np.linalg.norm(size) / 2  # within the object's size
    half_angle = math.degrees(math.atan2(np.linalg.norm(size) / 2, distance))
    assert angular_distance(*direction_of(centroid)[:2], azimuth, elevation) <= half_angle
    # every point lies on the box's surface, and on its side facing the sensor (nothing seen through it)
    local = np.abs(pts - source) / (np.asarray(size) / 2)
    np.testing.assert_allclose(local.max(axis=1), 1.0, atol=1e-4)
    assert np.all(np.einsum("ij,ij->i", pts - source, pts) <= 1e-9 + np.linalg.norm(pts, axis=1) * np.linalg.norm(size))


def test_occlusion_hides_the_points_behind_another_object():
    front = _box_at(0.0, 0.0, 1.5, (0.2, 0.6, 0.6), 0)
    hidden = _box_at(0.0, 0.0, 3.0, (0.2, 0.6, 0.6), 1)  # the same angular size and farther: entirely behind
    partly = _box_at(0.0, 0.0, 3.0, (0.2, 2.4, 0.6), 2)  # wider: only its sides show
    alone = capture([hidden], QUIET, seed=3)
    assert len(alone.of(1)) > 20  # visible when nothing is in front
    cap = capture([front, hidden], QUIET, seed=3)
    assert len(cap.of(0)) > 0 and len(cap.of(1)) == 0
    cap = capture([front, partly], QUIET, seed=3)
    side = cap.of(2).astype(np.float64)
    assert len(side) > 0
    az = np.degrees(np.arctan2(side[:, 1], side[:, 0]))
    blocked = math.degrees(math.atan2(0.3, 1.4))  # the front box's half-width seen from the sensor
    assert np.all(np.abs(az) >= blocked - 1.0)  # no point of the far box inside the near box's silhouette


def test_density_falls_with_the_square_of_the_range():
    counts = [len(capture([_box_at(0.0, 0.0, d, (0.05, 0.6, 0.6), 0)], QUIET, seed=0).of(0)) for d in (1.5, 3.0)]
    assert counts[0] / counts[1] == pytest.approx(4.0, rel=0.2)


def test_room_walls_and_range_noise_grow_with_range_squared():
    lo, hi = np.array([-2.0, -3.0, -1.2]), np.array([4.0, 2.0, 1.5])
    exact = capture([], QUIET, seed=0, room=(lo, hi))
    assert np.all(exact.ids == ROOM_ID) and len(exact.points) == math.prod(QUIET.grid)
    wall = np.minimum(np.abs(exact.points - lo), np.abs(exact.points - hi)).min(axis=1)
    assert wall.max() < 1e-5  # every point on a wall
    sensor = DepthSensor(resolution_deg=1.0, noise_m=(0.001, 0.004), dropout=0.1)
    noisy = capture([], sensor, seed=5, room=(lo, hi))
    assert len(noisy.points) / len(exact.points) == pytest.approx(0.9, abs=0.01)  # dropout
    r = np.linalg.norm(noisy.points.astype(np.float64), axis=1)
    true = box_ranges(noisy.points / r[:, None], lo, hi)
    z = (r - true) / (0.001 + 0.004 * true**2)
    assert abs(z.mean()) < 0.03 and z.std() == pytest.approx(1.0, abs=0.03)


def test_one_objects_capture_equals_its_part_of_the_whole_scene():
    meshes = [_box_at(0.0, 0.0, 1.5, (0.2, 0.6, 0.6), 0), _box_at(4.0, 2.0, 3.0, (0.3, 1.0, 1.0), 1),
              _box_at(-90.0, 0.0, 2.0, (0.3, 0.3, 0.3), 2)]  # fmt: skip
    sensor = DepthSensor(resolution_deg=1.5)
    full = capture(meshes, sensor, seed=9, room=(np.array([-3.0, -3, -1.5]), np.array([5.0, 3, 2])))
    for k in range(3):
        one = capture(meshes, sensor, seed=9, room=(np.array([-3.0, -3, -1.5]), np.array([5.0, 3, 2])), only=k)
        np.testing.assert_array_equal(one.points, full.of(k))
        assert np.all(one.ids == k)
    again = capture(meshes, sensor, seed=9, room=(np.array([-3.0, -3, -1.5]), np.array([5.0, 3, 2])))
    np.testing.assert_array_equal(again.points, full.points)  # the same seed gives the same bytes
    assert not np.array_equal(capture(meshes, sensor, seed=10).points, capture(meshes, sensor, seed=9).points)


def test_pixel_grid_covers_the_sphere_once():
    dirs = pixel_directions(DepthSensor(resolution_deg=5.0))
    assert dirs.shape == (36 * 72, 3)
    np.testing.assert_allclose(np.linalg.norm(dirs, axis=1), 1.0)
    with pytest.raises(ValueError, match="resolution_deg"):
        DepthSensor(resolution_deg=0.0)
    with pytest.raises(ValueError, match="noise_m"):
        DepthSensor.from_dict({"noise_m": [1, 2, 3]})


# ---- catalogs, mesh table and mesh bank -----------------------------------------------------------------------


def test_properties_parser_handles_escapes_comments_and_continuations():
    text = "# comment\n! also\nname#1=Caf\\u00e9 table\nlong=a \\\n   b\nkey\\:x = y\n"
    assert parse_properties(text) == {"name#1": "Café table", "long": "a b", "key:x": "y"}


def test_object_frame_puts_the_front_forward_at_the_catalog_size():
    v = np.asarray(trimesh.load(trimesh.util.wrap_as_stream(nosed_box_obj(2.0, 3.0, 1.0)), file_type="obj",
                                force="mesh", process=False).vertices)  # fmt: skip
    out = to_object_frame(v, (40.0, 20.0, 60.0))  # width, depth, height in cm
    np.testing.assert_allclose(out.max(axis=0) - out.min(axis=0), [0.2, 0.4, 0.6], atol=1e-9)
    assert out[:, 2].min() == pytest.approx(0.0) and out[:, :2].mean(axis=0) == pytest.approx([0, 0], abs=0.05)
    nose = out[out[:, 0] > 0.09]  # the nose sits on the front (Sweet Home 3D's +z) = foabench's +x
    assert len(nose) and nose[:, 2].min() > 0.3  # and in the upper half, where it was built
    turned = to_object_frame(v, (40.0, 20.0, 60.0), rotation=(-1, 0, 0, 0, 1, 0, 0, 0, -1))  # half a turn
    assert turned[:, 0].min() == pytest.approx(-0.1) and np.all(turned[turned[:, 0] < -0.09][:, 2] > 0.3)


def test_mesh_bank_from_a_catalog_records_licences_and_is_resumable(tmp_path):
    bank_dir = build_test_mesh_bank(tmp_path)
    bank = Bank.open(bank_dir)
    assert bank.kind == "meshes" and len(bank.records) == 6 and bank.verify() == []
    rec = next(r for r in bank.records if r.pool == "dogs")
    assert rec.classes == {"dog": "object", "drum": "player"} and rec.license == "CC0-1.0"
    assert "Tester" in rec.attribution and rec.split_group == rec.origin
    v, _f = read_mesh(bank.resolve(rec.path))
    np.testing.assert_allclose(v.max(axis=0) - v.min(axis=0), rec.size_m, atol=1e-6)
    assert bank.header["classes_without_shape"] == ["bird"]
    before = {r.path: r.sha256 for r in bank.records}
    from foabench.synth.meshes.bank import build_mesh_bank

    again = build_mesh_bank(bank_dir, tmp_path / "furniture", parse_mesh_table(TABLE), progress=False)
    assert {r.path: r.sha256 for r in again.records} == before  # rebuilt (or reused) bit for bit


def test_mesh_inputs_that_cannot_be_used_get_named_errors(tmp_path):
    from foabench.synth.meshes.bank import build_mesh_bank

    with pytest.raises(FileNotFoundError, match="sweethome3d-furniture"):
        build_mesh_bank(tmp_path / "out", tmp_path / "nowhere", parse_mesh_table(TABLE), progress=False)
    (tmp_path / "bad.sh3f").write_bytes(b"not a zip")
    with pytest.raises(CatalogError, match="not a Sweet Home 3D catalog"):
        read_catalog(tmp_path / "bad.sh3f")
    with zipfile.ZipFile(tmp_path / "nosize.sh3f", "w") as zf:
        zf.writestr("PluginFurnitureCatalog.properties", "id#1=X#a\nmodel#1=/a.obj\n")
    with pytest.raises(CatalogError, match="lacks a model or size"):
        read_catalog(tmp_path / "nosize.sh3f")
    with pytest.raises(MeshTableError, match="two pools"):
        parse_mesh_table({**TABLE, "pools": {**TABLE["pools"], "more": TABLE["pools"]["bells"]}})
    with pytest.raises(MeshTableError, match="match"):
        parse_mesh_table({**TABLE, "classes": {"bell": {"pool": "bells", "match": "maybe"}}})
    np.savez(tmp_path / "m.npz", vertices=np.array([[0, 0, np.nan]] * 3), faces=np.array([[0, 1, 2]]))
    with pytest.raises(MeshFileError, match="NaN"):
        read_mesh(tmp_path / "m.npz")
    np.savez(tmp_path / "m.npz", vertices=np.zeros((3, 3)), faces=np.array([[0, 1, 3]]))
    with pytest.raises(MeshFileError, match="outside"):
        read_mesh(tmp_path / "m.npz")
    (tmp_path / "c").mkdir()
    write_catalog(tmp_path / "c" / "TestCatalog.sh3f", [])  # a catalog that lacks every mesh of the table
    report = build_mesh_bank(tmp_path / "out2", tmp_path / "c", parse_mesh_table(TABLE), progress=False)
    assert not report.records and {s["reason"] for s in report.skipped} == {"not in catalog"}


@pytest.mark.skipif(not DEFAULT_FURNITURE_DIR.is_dir(), reason="Debian's sweethome3d-furniture is not installed")
def test_the_shipped_table_builds_from_debians_catalogs(tmp_path):
    from foabench.synth.meshes.bank import build_mesh_bank
    from foabench.synth.meshes.table import load_mesh_table

    table = load_mesh_table()
    result = build_mesh_bank(tmp_path / "meshes", table=table, progress=False)
    assert not result.skipped and len(result.records) == len(table.meshes())
    for rec in result.records:  # real shapes at their catalog sizes, upright, front forward
        v, _ = read_mesh(tmp_path / "meshes" / rec.path)
        np.testing.assert_allclose(v.max(axis=0) - v.min(axis=0), rec.size_m, atol=2e-3)
        assert rec.license in ("CC0-1.0", "CC-BY-3.0", "CC-BY-3.0-US") and rec.attribution
    talkers = [r for r in result.records if r.pool.endswith("talkers")]
    assert all(1.5 < r.size_m[2] < 1.9 for r in talkers)  # people, standing


def test_the_shipped_table_is_valid_and_says_which_classes_have_no_shape():
    from foabench.synth.meshes.table import load_mesh_table

    table = load_mesh_table()
    assert table.classes["church organ"] is None
    assert table.classes["piano"].match == "object" and table.classes["violin"].match == "player"
    assert all(table.catalogs[m.catalog]["license"] for m in table.meshes())


# ---- user scans -----------------------------------------------------------------------------------------------


def test_user_clouds_are_posed_into_the_microphone_frame(tmp_path):
    pts = np.random.default_rng(0).uniform(-0.2, 0.2, (50, 3))
    pose = np.eye(4)
    pose[:3, :3] = [[0, -1, 0], [1, 0, 0], [0, 0, 1]]  # a quarter turn about z
    pose[:3, 3] = [2.0, 0.0, 0.5]
    np.savez(tmp_path / "test-000001_0.npz", points=pts, pose=pose)
    got, ids = read_user_cloud(tmp_path / "test-000001_0.npz")
    np.testing.assert_allclose(got, pts @ pose[:3, :3].T + pose[:3, 3], atol=1e-6)
    assert ids is None
    trimesh.PointCloud(pts).export(tmp_path / "test-000001_1.ply")
    (tmp_path / "test-000001_1.pose.json").write_text(json.dumps({"pose": pose.tolist()}))
    np.testing.assert_allclose(read_user_cloud(tmp_path / "test-000001_1.ply")[0], got, atol=1e-5)
    scene_ids = np.r_[np.zeros(25, int), np.full(25, 2)]
    np.savez(tmp_path / "test-000002.npz", points=pts, pose=np.eye(4), ids=scene_ids)
    row = {"id": "test-000002", "events": [{"role": "target"}, {"role": "interference"}, {"role": "target"}]}
    clouds = UserClouds(tmp_path)
    np.testing.assert_allclose(clouds.target_cloud(row, 2), pts[25:], atol=1e-6)
    with pytest.raises(UserCloudError, match="no cloud for row test-000003"):
        clouds.target_cloud({**row, "id": "test-000003"}, 0)


@pytest.mark.parametrize("case, message", [("no pose", "needs 'points'"), ("skew", "rigid"), ("nan", "NaN"),
                                           ("mirror", "rigid"), ("shape", r"\(N, 3\)")])  # fmt: skip
def test_bad_user_clouds_are_refused_by_name(tmp_path, case, message):
    pts, pose = np.zeros((4, 3)), np.eye(4)
    if case == "skew":
        pose[0, 1] = 0.5
    if case == "mirror":
        pose[0, 0] = -1.0
    if case == "nan":
        pts[1, 2] = np.nan
    if case == "shape":
        pts = np.zeros((4, 2))
    arrays = {"points": pts} if case == "no pose" else {"points": pts, "pose": pose}
    np.savez(tmp_path / "c.npz", **arrays)
    with pytest.raises(UserCloudError, match=message):
        read_user_cloud(tmp_path / "c.npz")
    trimesh.PointCloud(np.ones((3, 3))).export(tmp_path / "p.ply")
    with pytest.raises(UserCloudError, match="no pose"):
        read_user_cloud(tmp_path / "p.ply")


# ---- the encoder's input --------------------------------------------------------------------------------------


def test_fixed_size_clouds_and_the_pointnet_encoder():
    pts = (np.random.default_rng(1).normal(size=(40, 3)) + np.array([2.0, 0.0, 0.0])).astype(np.float32)
    small = fixed_size_cloud(pts, 64, seed=3)
    assert (
        small.shape == (64, 4)
        and np.all(small[:, 3] == 1)
        and {tuple(p) for p in small[:, :3]} == {tuple(p) for p in pts}
    )
    big = fixed_size_cloud(pts, 16, seed=3)
    assert len({tuple(p) for p in big[:, :3]}) == 16
    np.testing.assert_array_equal(fixed_size_cloud(pts, 16, seed=3), big)
    assert not fixed_size_cloud(np.zeros((0, 3)), 8, 0).any()
    torch.manual_seed(0)
    enc = PointCloudEncoder(32)
    with torch.no_grad():
        enc.empty.normal_()
        x = torch.from_numpy(np.stack([small, np.zeros_like(small)]))
        out = enc(x)
        perm = enc(x[:, torch.randperm(64)])
    assert out.shape == (2, 32)
    torch.testing.assert_close(out, perm, rtol=1e-5, atol=1e-6)  # the order of the points does not matter
    torch.testing.assert_close(out[1], enc.empty)  # an empty cloud gets the learned "no cloud" embedding
