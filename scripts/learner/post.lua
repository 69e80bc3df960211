-- wrk's POST /predict with one patient (lab 09, Step 2: profile under load).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[{"age": 0.0381, "sex": 0.0507, "bmi": 0.0617, "bp": 0.0219, "s1": -0.0442, "s2": -0.0348, "s3": -0.0434, "s4": -0.0026, "s5": 0.0199, "s6": -0.0176}]==]
