// Sample: one marker per face that follows the face and shows its expression.
// Add an EmotionPerceptionClient and this component to a GameObject, press Play with the
// graph running (`make run` or `ros2 launch emotion_perception bringup.launch.py`).
using System.Collections.Generic;
using EmotionPerception.Client;
using UnityEngine;

namespace EmotionPerception.Samples
{
    [RequireComponent(typeof(EmotionPerceptionClient))]
    public sealed class FaceExpressionsSample : MonoBehaviour
    {
        [Tooltip("Width of the area, in world units, that the camera image maps onto")]
        public float areaWidth = 8f;

        [Header("Notice to visitors (EU AI Act, Art. 50(3): tell people emotion recognition runs)")]
        [Tooltip("Show the notice on screen while the scene runs")]
        public bool showNotice = true;

        [TextArea(3, 6)]
        [Tooltip("What visitors read; say who runs the installation and how to reach them")]
        public string noticeText =
            "This installation uses a camera to recognise facial expressions of the people in " +
            "front of it. No images are stored or sent anywhere, and nothing identifies you. " +
            "Operator: <name, contact>";

        [Tooltip("Font size of the notice, in pixels")]
        public int noticeFontSize = 20;

        private GUIStyle _noticeStyle;

        private readonly Dictionary<int, GameObject> _markers = new Dictionary<int, GameObject>();
        private EmotionPerceptionClient _client;

        private void OnEnable()
        {
            _client = GetComponent<EmotionPerceptionClient>();
            _client.faceAppeared.AddListener(OnAppeared);
            _client.faceDisappeared.AddListener(OnDisappeared);
            _client.frameArrived.AddListener(OnFrame);
        }

        private void OnDisable()
        {
            _client.faceAppeared.RemoveListener(OnAppeared);
            _client.faceDisappeared.RemoveListener(OnDisappeared);
            _client.frameArrived.RemoveListener(OnFrame);
        }

        private void OnGUI()
        {
            if (!showNotice || string.IsNullOrEmpty(noticeText))
                return;
            if (_noticeStyle == null)
                _noticeStyle = new GUIStyle(GUI.skin.box) { wordWrap = true, alignment = TextAnchor.MiddleCenter };
            _noticeStyle.fontSize = noticeFontSize;
            float height = noticeFontSize * 4f;
            GUI.Box(new Rect(10f, Screen.height - height - 10f, Screen.width - 20f, height), noticeText, _noticeStyle);
        }

        private void OnAppeared(Face face)
        {
            GameObject marker = GameObject.CreatePrimitive(PrimitiveType.Sphere);
            marker.name = $"Face {face.id}";
            var label = new GameObject("Expression").AddComponent<TextMesh>();
            label.transform.SetParent(marker.transform, false);
            label.transform.localPosition = new Vector3(0f, 0.8f, 0f);
            label.anchor = TextAnchor.LowerCenter;
            label.characterSize = 0.15f;
            _markers[face.id] = marker;
        }

        private void OnDisappeared(int id)
        {
            if (_markers.TryGetValue(id, out GameObject marker))
                Destroy(marker);
            _markers.Remove(id);
        }

        private void OnFrame(FaceFrame frame)
        {
            if (frame.imageWidth == 0)
                return;
            float scale = areaWidth / frame.imageWidth;
            foreach (Face face in frame.faces)
            {
                if (!_markers.TryGetValue(face.id, out GameObject marker))
                    continue;
                Position p = face.position;
                // Image y grows downwards; the face centre, mapped around this object.
                var centre = new Vector3((p.x + p.width / 2f - frame.imageWidth / 2f) * scale,
                                         (frame.imageHeight / 2f - p.y - p.height / 2f) * scale, 0f);
                marker.transform.position = transform.position + centre;
                marker.transform.localScale = Vector3.one * p.width * scale;
                marker.GetComponentInChildren<TextMesh>().text = $"#{face.id} {face.expression} {face.confidence:0.00}";
            }
        }
    }
}
