// Drives the Unity package's protocol code (no UnityEngine) against a real bridge, the
// way the EmotionPerceptionClient component does on Unity's main thread: poll the newest
// frame, feed the event tracker. Prints results as JSON lines for test_unity_client.py.
//   mono harness.exe rate|events|reconnect|pull tcp|ws HOST PORT SECONDS
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Threading;
using EmotionPerception.Client;

namespace EmotionPerception.Client.Tests
{
    public static class Harness
    {
        public static int Main(string[] args)
        {
            string mode = args[0], transport = args[1], host = args[2];
            int port = int.Parse(args[3]);
            double seconds = double.Parse(args[4], CultureInfo.InvariantCulture);
            Func<IFaceConnection> connect = transport == "ws"
                ? (Func<IFaceConnection>)(() => new WebSocketFaceConnection(new Uri($"ws://{host}:{port}/")))
                : () => new TcpFaceConnection(host, port);
            var options = new ClientOptions { OnRequest = mode == "pull", ReadTimeout = TimeSpan.FromSeconds(2) };
            var client = new FaceStreamClient(connect, new ReflectionJson(), options);
            var tracker = new FaceEventTracker();
            tracker.Appeared += f => Say($"{{\"event\":\"appeared\",\"id\":{f.id},\"expression\":\"{f.expression}\"}}");
            tracker.ExpressionChanged += (f, old) =>
                Say($"{{\"event\":\"changed\",\"id\":{f.id},\"from\":\"{old}\",\"to\":\"{f.expression}\"}}");
            tracker.Disappeared += id => Say($"{{\"event\":\"disappeared\",\"id\":{id}}}");

            var ages = new List<double>();
            var clock = Stopwatch.StartNew();
            double lastFrame = -1, lost = -1, reconnect = -1, nextRequest = 0;
            client.Start();
            while (clock.Elapsed.TotalSeconds < seconds)
            {
                while (client.Warnings.TryDequeue(out string warning))
                    Console.Error.WriteLine("WARN " + warning);
                FaceFrame frame = client.Frames.Take();
                double now = clock.Elapsed.TotalSeconds;
                if (mode == "pull" && now >= nextRequest)
                {
                    client.RequestNext();
                    nextRequest = now + 1.0;
                }
                if (frame == null)
                {
                    if (mode == "reconnect" && lastFrame >= 0 && lost < 0 && client.State != ConnectionState.Connected)
                        lost = now;
                    Thread.Sleep(1);
                    continue;
                }
                double unix = (DateTime.UtcNow - new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc)).TotalSeconds;
                ages.Add((unix - frame.stamp) * 1000.0);
                if (lastFrame < 0)
                    Say("{\"ready\":true}");
                if (mode == "reconnect" && lost >= 0 && reconnect < 0 && client.Connections >= 2)
                {
                    reconnect = now - lost;
                    Say($"{{\"reconnectSeconds\":{reconnect.ToString("0.###", CultureInfo.InvariantCulture)}}}");
                }
                lastFrame = now;
                tracker.Update(frame);
            }
            client.Stop();
            ages.Sort();
            Func<double, string> pct = q => ages.Count == 0 ? "null"
                : ages[Math.Min(ages.Count - 1, (int)(q * ages.Count))].ToString("0.#", CultureInfo.InvariantCulture);
            Say($"{{\"framesReceived\":{client.FramesReceived},\"framesTaken\":{ages.Count}," +
                $"\"parseFailures\":{client.ParseFailures},\"connections\":{client.Connections}," +
                $"\"p50\":{pct(0.5)},\"p99\":{pct(0.99)},\"state\":\"{client.State}\"}}");
            return 0;
        }

        private static void Say(string json)
        {
            Console.WriteLine(json);
            Console.Out.Flush();
        }
    }
}
