-- Headless Ardour 7 (ardour7-lua): an audio track with a test-drum generator and the Hitscribe
-- VST3, whose MIDI output is recorded on a MIDI track. Prints "NOTE <time> <key> <velocity>" for
-- every recorded note and "RESULT ok <count>" at the end. Env: HS_SESSION_DIR, HS_SECONDS.
local dir = os.getenv ("HS_SESSION_DIR")
local seconds = tonumber (os.getenv ("HS_SECONDS") or "4")

local backend = AudioEngine:set_backend ("None (Dummy)", "", "")
assert (backend, "dummy backend")
backend:set_sample_rate (48000)
backend:set_buffer_size (512)

local s = create_session (dir, "hstest", 48000)
assert (s, "session created")

local atl = Session:new_audio_track (1, 2, nil, 1, "drums", ARDOUR.PresentationInfo.max_order, ARDOUR.TrackMode.Normal, true)
local at = atl:front ()
at:set_strict_io (false)
local gen = ARDOUR.LuaAPI.new_luaproc (Session, "Hitscribe Test Drums")
assert (not gen:isnil (), "generator")
assert (at:add_processor_by_index (gen, 0, nil, true) == 0, "add generator")
local hs = ARDOUR.LuaAPI.new_plugin (Session, "Hitscribe", ARDOUR.PluginType.VST3, "")
assert (not hs:isnil (), "Hitscribe VST3 found (scan it first)")
assert (at:add_processor_by_index (hs, 1, nil, true) == 0, "add Hitscribe")

local midi1 = ARDOUR.ChanCount (ARDOUR.DataType ("midi"), 1)
local mtl = Session:new_midi_track (midi1, midi1, false, ARDOUR.PluginInfo (), nil, nil, 1, "notes", ARDOUR.PresentationInfo.max_order, ARDOUR.TrackMode.Normal, false, false)
local mt = mtl:front ()

-- connect the audio track's MIDI output to the MIDI track's input
local aout = at:output ()
local min = mt:input ()
print ("drums outputs: " .. aout:n_ports ():n_total () .. " (midi " .. aout:n_ports ():n_midi () .. ")")
local connected = false
local mp = aout:midi (0)
if not mp:isnil () then
	min:disconnect_all (nil)
	assert (min:connect (min:nth (0), mp:name (), nil) == 0, "connect midi")
	connected = true
end
assert (connected, "the Hitscribe track has a MIDI output")

mt:rec_enable_control ():set_value (1, PBD.GroupControlDisposition.NoGroup)
Session:goto_start ()
Session:maybe_enable_record ()
Session:request_roll (ARDOUR.TransportRequestSource.TRS_UI)
local t0 = os.time ()
while os.time () - t0 < seconds + 2 do
	ARDOUR.LuaAPI.usleep (100000)
end
Session:request_stop (false, false, ARDOUR.TransportRequestSource.TRS_UI)
ARDOUR.LuaAPI.usleep (1000000)

local count = 0
for r in mt:playlist ():region_list ():iter () do
	local mr = r:to_midiregion ()
	print (string.format ("REGION %d %d", r:position ():samples (), r:length ():samples ()))
	for n in ARDOUR.LuaAPI.note_list (mr:model ()):iter () do
		print (string.format ("NOTE %d %d %d", n:note (), n:velocity (), n:channel ()))
		count = count + 1
	end
end
print ("RESULT ok " .. count)
Session:save_state ("")
close_session ()
quit ()
