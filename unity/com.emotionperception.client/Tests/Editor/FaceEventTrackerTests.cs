// Unity Test Runner (Edit Mode) tests of the protocol code; the same code is also tested
// against a real bridge outside Unity (test/test_unity_client.py, with Mono).
using System.Collections.Generic;
using System.Text;
using EmotionPerception.Client;
using NUnit.Framework;

namespace EmotionPerception.Client.Tests
{
    public class FaceEventTrackerTests
    {
        private static FaceFrame Frame(params (int id, string expression)[] faces)
        {
            var list = new List<Face>();
            foreach (var (id, expression) in faces)
                list.Add(new Face { id = id, expression = expression });
            return new FaceFrame { type = "faces", faces = list.ToArray(), faceCount = list.Count };
        }

        [Test]
        public void RaisesAppearedChangedAndDisappeared()
        {
            var tracker = new FaceEventTracker();
            var events = new List<string>();
            tracker.Appeared += f => events.Add($"+{f.id}");
            tracker.ExpressionChanged += (f, old) => events.Add($"{f.id}:{old}>{f.expression}");
            tracker.Disappeared += id => events.Add($"-{id}");
            tracker.Update(Frame((1, "Happy")));
            tracker.Update(Frame((1, "Happy"), (2, "Sad")));
            tracker.Update(Frame((1, "Surprise"), (2, "Sad")));
            tracker.Update(Frame((2, "Sad")));
            CollectionAssert.AreEqual(new[] { "+1", "+2", "1:Happy>Surprise", "-1" }, events);
        }

        [Test]
        public void LineFramerSplitsAndJoinsReads()
        {
            var framer = new LineFramer();
            byte[] first = Encoding.UTF8.GetBytes("{\"a\":1}\n{\"b\"");
            byte[] second = Encoding.UTF8.GetBytes(":2}\n");
            CollectionAssert.AreEqual(new[] { "{\"a\":1}" }, framer.Push(first, first.Length));
            CollectionAssert.AreEqual(new[] { "{\"b\":2}" }, framer.Push(second, second.Length));
        }

        [Test]
        public void UnityJsonParserReadsAFrame()
        {
            FaceFrame frame = new UnityJsonParser().FromJson<FaceFrame>(
                "{\"type\":\"faces\",\"frame\":3,\"stamp\":1795240383.6196,\"faceCount\":1," +
                "\"faces\":[{\"id\":7,\"expression\":\"Happy\",\"position\":{\"x\":1,\"y\":2,\"width\":3,\"height\":4}}]}");
            Assert.AreEqual(7, frame.faces[0].id);
            Assert.AreEqual(1795240383.6196, frame.stamp, 1e-4);
        }
    }
}
