ardour {
	["type"]    = "dsp",
	name        = "Hitscribe Test Drums",
	category    = "Utility",
	license     = "GPL-3.0-or-later",
	author      = "Hitscribe",
	description = [[Test signal for the Hitscribe Ardour test: replaces the input with a kick every 500 ms (on the beat) and a hi-hat burst every 500 ms (on the off-beat), starting at session sample 0 while the transport rolls.]]
}

function dsp_ioconfig ()
	return { { audio_in = -1, audio_out = -1 } }
end

local rate = 48000
local seed = 1

function dsp_init (r)
	rate = r
end

local function rnd ()
	seed = (seed * 1103515245 + 12345) % 2147483648
	return seed / 1073741824.0 - 1.0
end

function dsp_run (ins, outs, n_samples)
	local pos = Session:transport_sample ()
	local rolling = Session:transport_rolling ()
	local period = math.floor (rate / 2)
	for c = 1, #outs do
		local o = outs[c]:array ()
		for i = 1, n_samples do
			local v = 0.0
			if rolling then
				local p = (pos + i - 1) % period
				local t = p / rate
				-- kick: 55 Hz falling from 150 Hz, 150 ms decay
				v = 0.9 * math.sin (2 * math.pi * (55 * t + 0.03 * 95 * (1 - math.exp (-t / 0.03)))) * math.exp (-t / 0.15)
				local q = p - math.floor (period / 2)
				if q >= 0 then
					-- hi-hat: first-difference white noise, 30 ms decay
					local tq = q / rate
					v = v + 0.3 * rnd () * math.exp (-tq / 0.03)
				end
			end
			o[i] = v
		end
	end
end
